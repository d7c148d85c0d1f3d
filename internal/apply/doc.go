// Package apply puts the rendered objects of one environment into its
// namespace and takes out those the manifest no longer lists.
//
// Objects are applied with server-side apply under one field manager,
// conflicts forced, stage by stage in render.KindOrder, concurrently within a
// stage; a failure is recorded and the rest carry on. An object whose desired
// state is what was last applied, and whose fields nobody else has taken,
// costs no write request at all (see Applier.Apply for how that is decided).
//
// Pruning selects only objects carrying the managed-by and environment
// labels, spares PersistentVolumeClaims unless told otherwise, and refuses to
// delete everything when the desired set is suddenly empty.
package apply
