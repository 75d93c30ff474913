"""Analyses shared by rules: string evaluation, target classification, reachability."""
