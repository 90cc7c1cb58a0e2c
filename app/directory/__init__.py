"""The member directory: opt-in profiles, search by name or skill, and personal data (export, deletion)."""
