// Package protoconflict lets this program link both PuddleStore's kvpb and
// etcd's client: both register a protobuf file named "kv.proto" (ours
// because node/kvpb is generated from inside its own directory), and
// protobuf-go panics at init on the clash. Imported first by main, and
// sorted before both by import path, its init runs before either registers
// and switches the clash to a warning for this process only. The two
// packages' messages never meet, so the clash is harmless here.
package protoconflict

import "os"

func init() {
	const env = "GOLANG_PROTOBUF_REGISTRATION_CONFLICT"
	if os.Getenv(env) == "" {
		_ = os.Setenv(env, "ignore")
	}
}
