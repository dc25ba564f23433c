// Formatting of sizes, speeds and times for the page.

const UNITS = ["B", "KB", "MB", "GB", "TB", "PB"];

export function bytes(n) {
  if (n === undefined || n === null || Number.isNaN(n)) return "";
  let value = Number(n);
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit === 0 || value >= 100 ? 0 : 1)} ${UNITS[unit]}`;
}

export function speed(n) {
  return n ? `${bytes(n)}/s` : "";
}

// Radarr's timeleft is "[d.]hh:mm:ss"; show it shorter ("1d 2h", "3m 20s").
export function timeleft(text) {
  if (!text) return "";
  const match = /^(?:(\d+)\.)?(\d+):(\d+):(\d+)/.exec(text);
  if (!match) return text;
  const [d, h, m, s] = match.slice(1).map((x) => Number(x || 0));
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${m}m`;
  if (m) return `${m}m ${s}s`;
  return `${s}s`;
}

export function date(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

export function percent(p) {
  return `${Math.floor(Number(p || 0))}%`;
}
