"""Where runs execute, behind one interface."""
