'use strict';

// Lets `serverless deploy` run against a local AWS emulator (moto server).
//
// moto's CloudFormation ValidateTemplate runs cfn-lint and rejects the
// framework's template on a *warning* (W3005 on the HTTP API route), which real
// AWS accepts. When AWS_ENDPOINT_URL points at a loopback address, this plugin
// replaces that one remote validation call with a local parse of the template;
// for any other endpoint (real AWS) it does nothing at all. The test suite runs
// cfn-lint on the packaged template, so the template is still checked.

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

class LoopbackEmulatorPlugin {
  constructor(serverless, options, { log } = {}) {
    this.serverless = serverless;
    this.log = log || console;
    this.active = isLoopbackEndpoint(process.env.AWS_ENDPOINT_URL);
    this.hooks = {};
    if (this.active) {
      this.hooks['before:aws:deploy:deploy:validateTemplate'] = () => this.replaceValidation();
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
