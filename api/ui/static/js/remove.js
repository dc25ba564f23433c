// The remove dialog: Radarr's two choices, remove from the client and blocklist.

import { $ } from "./dom.js";

export function confirmRemove(titles) {
  const dialog = $("#remove-dialog");
  $("#remove-what").textContent = titles.length === 1
    ? `Remove “${titles[0]}” from the queue?`
    : `Remove these ${titles.length} items from the queue?`;
  $("#remove-from-client").checked = true;
  $("#remove-blocklist").checked = false;
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      resolve(dialog.returnValue === "remove" ? {
        removeFromClient: $("#remove-from-client").checked,
        blocklist: $("#remove-blocklist").checked,
      } : null);
    }, { once: true });
  });
}
