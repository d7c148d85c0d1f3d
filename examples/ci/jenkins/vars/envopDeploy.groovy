// envopDeploy deploys a version of a service to one environment and waits
// until it is healthy or failed: the successor of the original Environment
// Operator's Jenkins plugin, which polled a status page for five minutes and
// could pass a broken release. It runs `envop deploy --wait` and fails the
// build with the reason when the deploy does not succeed; the reason and the
// failing pods' logs are in the console log.
//
//   envopDeploy service: 'web', version: env.VERSION, environment: 'staging',
//               credentialsId: 'envop-staging-token'
//
// Arguments:
//   service, version   required
//   environment        a name of the client config file ($ENVOP_CONFIG); its
//                      token is read from the variable named by its
//                      token_env, which this step binds to credentialsId
//   endpoint           instead of environment: the operator's URL
//   credentialsId      a Secret text credential holding the API token
//   tokenVariable      the variable the token is bound to (default: the
//                      environment's name in capitals + _ENVOP_TOKEN, or
//                      ENVOP_TOKEN with endpoint)
//   timeout            how long to wait (default 10m)
//   application        image name when it differs from the service's
//   envop              path of the envop binary (default: envop)
def call(Map args) {
    for (name in ['service', 'version', 'credentialsId']) {
        if (!args[name]) {
            error("envopDeploy: the ${name} argument is required")
        }
    }
    if (!args.environment == !args.endpoint) {
        error('envopDeploy: give exactly one of environment and endpoint')
    }
    String tokenVariable = args.tokenVariable ?:
        (args.endpoint ? 'ENVOP_TOKEN' : args.environment.toUpperCase().replaceAll('[^A-Z0-9]', '_') + '_ENVOP_TOKEN')
    // Values reach the shell as environment variables, never interpolated
    // into the script, so neither quoting nor the token can leak or break it.
    List vars = [
        "ENVOP_STEP_BIN=${args.envop ?: 'envop'}",
        "ENVOP_STEP_SERVICE=${args.service}",
        "ENVOP_STEP_VERSION=${args.version}",
        "ENVOP_STEP_TIMEOUT=${args.timeout ?: '10m'}",
        "ENVOP_STEP_APPLICATION=${args.application ?: ''}",
        "ENVOP_STEP_TARGET=${args.environment ?: ''}",
        "ENVOP_ENDPOINT=${args.endpoint ?: ''}",
    ]
    int code
    withEnv(vars) {
        withCredentials([string(credentialsId: args.credentialsId, variable: tokenVariable)]) {
            code = sh(returnStatus: true, label: "envop deploy ${args.service} ${args.version}", script: '''
                set -- deploy "$ENVOP_STEP_SERVICE" "$ENVOP_STEP_VERSION" --wait --timeout "$ENVOP_STEP_TIMEOUT"
                if [ -n "$ENVOP_STEP_APPLICATION" ]; then set -- "$@" --application "$ENVOP_STEP_APPLICATION"; fi
                if [ -n "$ENVOP_STEP_TARGET" ]; then set -- "$@" --env "$ENVOP_STEP_TARGET"; fi
                exec "$ENVOP_STEP_BIN" "$@"
            ''')
        }
    }
    String where = args.environment ?: args.endpoint
    switch (code) {
        case 0:
            echo "envopDeploy: ${args.service} ${args.version} is healthy in ${where}"
            return
        case 1:
            error("envopDeploy: the deploy of ${args.service} ${args.version} to ${where} failed (reason and pod logs above)")
        case 2:
            error("envopDeploy: ${where} refused the request or the step is misconfigured (see above)")
        case 3:
            error("envopDeploy: the operator of ${where} was unreachable or failed")
        case 70:
            error("envopDeploy: ${args.service} ${args.version} was not healthy in ${where} within ${args.timeout ?: '10m'}")
        default:
            error("envopDeploy: envop exited with status ${code}")
    }
}
