"""Intrinsic rewards (arrow-of-time potential) and their adapters. Nothing here yet."""
