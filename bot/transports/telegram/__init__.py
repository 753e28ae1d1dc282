"""The Telegram transport (python-telegram-bot 22): application, handlers, keyboards, formatting."""
