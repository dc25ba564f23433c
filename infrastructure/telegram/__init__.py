"""The two-way Telegram bot: links, files and commands in (see bot.py)."""
