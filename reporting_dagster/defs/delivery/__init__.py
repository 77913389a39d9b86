"""Delivery steps and the delivery retries (the logic is lib/delivery/)."""
