"""Pure shape math and cost formulas. No torch, no terminal: everything here is plain Python."""
