"""Keys and certificates: checking a key before sf sees it, making a pair, reading a certificate."""
