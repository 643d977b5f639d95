// Placeholder until the feature lands; listed in CMakeLists.txt so parallel work does not
// collide on the source list.
