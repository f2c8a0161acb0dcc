"""Use cases. Each public function is one unit of work; callers (views, CLI, jobs) stay thin."""
