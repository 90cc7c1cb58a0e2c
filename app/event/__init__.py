"""Events: publishing, proposals, registrations with a waitlist, attendance, reminders."""
