"""The accessories shop: catalog, cart, checkout, orders, stock and Stripe payments."""
