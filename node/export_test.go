package node

// Hooks for tests in package node_test.

// EncodePut returns the log command of an exactly-once Put by clientID with
// sequence number seq, as the KV state machine applies it.
func EncodePut(clientID, seq uint64, key string, value []byte) []byte {
	return kvCommand{op: opPut, clientID: clientID, seq: seq, key: key, value: value}.encode()
}
