"""The member directory: opt-in profiles, search by name or skill."""
