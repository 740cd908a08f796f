"""The operator console (`listguard`) and the local cloud. Never deployed."""
