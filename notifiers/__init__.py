"""Delivery of outbox rows: rendering, channels (file, email, Zalo, webhook), the dispatcher."""
