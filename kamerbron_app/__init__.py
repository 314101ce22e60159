"""The ``kamerbron`` console command: one name for the app and every stage's command line."""
