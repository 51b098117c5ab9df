"""DVC's formats, byte for byte, and nothing else."""
