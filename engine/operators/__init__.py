"""
Operators: accounts, softphone sessions, bridging answered customers to them.

See the module docstrings; the seams other parts use are listed here as they
land.
"""
