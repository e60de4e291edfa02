module.exports = { ...require('../../jest.preset.js'), displayName: 'release-tests' };
