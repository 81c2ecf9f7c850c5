"""The dealer's CRM: one customer record, leads routed at once, and the new-car pipeline."""
