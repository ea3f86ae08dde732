"""MedHive hub core: diagnostic tasks, the signed model registry, training and inference.

`hub` depends on no other MedHive package; configuration comes in as arguments.
"""
