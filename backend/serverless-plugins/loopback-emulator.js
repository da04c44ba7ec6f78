'use strict';

// Lets `serverless deploy` run against a local AWS emulator (moto server).
//
// moto's CloudFormation ValidateTemplate runs cfn-lint and rejects the
// framework's template on a *warning* (W3005 on the HTTP API route), which real
// AWS accepts. When AWS_ENDPOINT_URL points at a loopback address, this plugin
// replaces that one remote validation call with a local parse of the template,
// and leaves out of the uploaded template the stack outputs that name resources
// moto cannot create (function URL, HTTP API): moto fails DescribeStacks on
// them. For any other endpoint (real AWS) it does nothing at all. The test suite
// runs cfn-lint on the packaged template, so the template is still checked.

const fs = require('fs');
const path = require('path');

function isLoopbackEndpoint(value) {
  if (!value) return false;
  let host;
  try {
    host = new URL(value).hostname;
  } catch {
    return false;
  }
  host = host.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

const UNSUPPORTED_BY_EMULATOR = /^AWS::(Lambda::Url|ApiGatewayV2::)/;

function referencedIds(value) {
  if (Array.isArray(value)) return value.flatMap(referencedIds);
  if (!value || typeof value !== 'object') return [];
  const ids = [];
  if (typeof value.Ref === 'string') ids.push(value.Ref);
  if (Array.isArray(value['Fn::GetAtt'])) ids.push(value['Fn::GetAtt'][0]);
  return ids.concat(Object.values(value).flatMap(referencedIds));
}

class LoopbackEmulatorPlugin {
  constructor(serverless, options, { log } = {}) {
    this.serverless = serverless;
    this.log = log || console;
    this.active = isLoopbackEndpoint(process.env.AWS_ENDPOINT_URL);
    this.hooks = {};
    if (this.active) {
      this.hooks['before:aws:deploy:deploy:uploadArtifacts'] = () => this.dropUnsupportedOutputs();
      this.hooks['before:aws:deploy:deploy:validateTemplate'] = () => this.replaceValidation();
    }
  }

  dropUnsupportedOutputs() {
    const template = this.serverless.service.provider.compiledCloudFormationTemplate;
    const unsupported = new Set(
      Object.entries(template.Resources || {})
        .filter(([, resource]) => UNSUPPORTED_BY_EMULATOR.test(resource.Type))
        .map(([logicalId]) => logicalId)
    );
    for (const [key, output] of Object.entries(template.Outputs || {})) {
      if (referencedIds(output.Value).some((id) => unsupported.has(id))) {
        delete template.Outputs[key];
      }
    }
  }

  replaceValidation() {
    const deployPlugin = this.serverless.pluginManager.plugins.find(
      (plugin) => plugin.constructor && plugin.constructor.name === 'AwsDeploy'
    );
    if (!deployPlugin) return;
    const serverless = this.serverless;
    const log = this.log;
    deployPlugin.validateTemplate = async function validateLocally() {
      const file = path.join(
        serverless.serviceDir,
        '.serverless',
        serverless.getProvider('aws').naming.getCompiledTemplateFileName()
      );
      const template = JSON.parse(fs.readFileSync(file, 'utf8'));
      if (!template.Resources || Object.keys(template.Resources).length === 0) {
        throw new serverless.classes.Error('The CloudFormation template has no resources.');
      }
      if (log.notice) {
        log.notice('Local emulator endpoint: template validated locally, not by the emulator.');
      }
    };
  }
}

LoopbackEmulatorPlugin.isLoopbackEndpoint = isLoopbackEndpoint;
module.exports = LoopbackEmulatorPlugin;
