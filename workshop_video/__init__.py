"""Transparent workshop: live video of the owner's car in its bay (cameras, viewing sessions)."""
