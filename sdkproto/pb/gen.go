// Package pb holds the generated Protocol Buffers types of the device protocol.
package pb

//go:generate protoc --go_out=. --go_opt=paths=source_relative mopush.proto
