"""Authoring tools: masters -> stamped masters, student notebooks, solution modules, book pages."""
