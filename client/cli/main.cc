#include "client/cli/cli.h"

int main(int argc, char** argv) { return dockline::cli::Main(argc, argv); }
