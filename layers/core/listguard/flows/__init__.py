"""The flows: each a few small stages that call the stores; a handler calls exactly one entry point."""
