"""Delivery channels beyond email: SMS providers, WeChat template messages and webhooks."""
