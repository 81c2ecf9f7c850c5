"""Business verbs, one module per aggregate. Services flush; views commit."""
