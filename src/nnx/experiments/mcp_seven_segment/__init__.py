"""mcp_seven_segment: McCulloch-Pitts nets for 6/7/8/9 on a seven-segment display, checked on all 128 inputs."""
