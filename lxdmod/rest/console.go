package rest

import "context"

// consolePath is the console endpoint of an instance: POST opens a session,
// GET reads the console log, DELETE clears it.
func consolePath(instance string) string { return Path("instances", instance, "console") }

// StartConsole opens a console session on instance and returns at once:
// the caller attaches to its websockets "0" (the terminal, both ways) and
// "control" (window size, signals), as for an interactive exec.
func (c *Client) StartConsole(ctx context.Context, instance string, width, height int) (*ExecStarted, error) {
	body := map[string]any{"width": width, "height": height}
	resp, err := c.Do(ctx, &Request{Method: "POST", Path: consolePath(instance), Body: body})
	if err != nil {
		return nil, err
	}
	return websocketOperation(resp, "console of "+instance)
}

// ConsoleLog returns the instance's console log, at most limit bytes (LXD
// sends it whole, as a file).
func (c *Client) ConsoleLog(ctx context.Context, instance string, limit int64) ([]byte, error) {
	return c.GetBody(ctx, consolePath(instance), limit)
}

// ClearConsoleLog empties the instance's console log.
func (c *Client) ClearConsoleLog(ctx context.Context, instance string) error {
	_, err := c.Do(ctx, &Request{Method: "DELETE", Path: consolePath(instance)})
	return err
}
