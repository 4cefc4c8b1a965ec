"""Adapters from provider payloads (Shopify, EasyPost, AfterShip, Zendesk, Slack) to canonical events."""
