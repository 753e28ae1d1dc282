"""Transports: how people reach the engine (Telegram, the terminal). Thin layers over services."""
