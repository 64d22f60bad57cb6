"""v1-style code for the names modelport adds for ported notebooks (issue 15, part 3)."""
