"""Stripe webhooks: verification (route.py), recording and dispatch, one handler per event type."""
