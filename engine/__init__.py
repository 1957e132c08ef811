"""
outdial: outbound calling campaigns for bank contact centres, over Asterisk ARI.
"""

__version__ = "0.1.0"
