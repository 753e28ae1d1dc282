"""Hải Phòng party-building report bot."""
