"""Test kits shared by the plugin packages (import only from tests)."""
