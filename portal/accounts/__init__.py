"""Staff accounts: sign-in with lockout, the password rules, and account changes that end
sessions. Views (staff pages, the command line) call these; nothing here imports a view."""
