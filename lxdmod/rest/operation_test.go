package rest

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestOperationProgress(t *testing.T) {
	op := &Operation{Metadata: map[string]any{"fs_progress": "fs: 42%", "create_instance_from_image_unpack_progress": "Unpack: 10%",
		"other": "x", "empty_progress": "", "number_progress": 3}}
	assert.Equal(t, "Unpack: 10%, fs: 42%", op.Progress())
	assert.Equal(t, "", (&Operation{}).Progress())
}
