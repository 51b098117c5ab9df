"""DVC's formats, byte for byte, and the checks every value read from them passes."""
