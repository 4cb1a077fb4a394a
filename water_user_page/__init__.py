"""The water-user page (我的用水): a small mobile page served by the API, Chinese by default."""
