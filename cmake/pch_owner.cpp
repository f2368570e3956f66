// The one source of the precompiled header owners (kefu_pch_owners in
// cmake/kefu.cmake): the header itself is the point, this file is empty.
