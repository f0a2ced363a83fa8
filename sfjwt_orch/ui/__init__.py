"""What a person sees and answers: the console, prompts, the fleet's table, shell completion."""
