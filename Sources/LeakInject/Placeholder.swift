// Placeholder so the module builds while it is written.
