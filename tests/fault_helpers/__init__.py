"""Child processes for tests/test_fault_injection.py: writers that are killed mid-write."""
